extension HTMLReport {
    /// Every provider batch of the job: its id, state, lines and the note on how it ended. Absent for a
    /// job that never opened one.
    func batches() -> String {
        guard let batches = status.batches, !batches.isEmpty else { return "" }
        var html = "<section id=\"batches\">\n<h2>Provider batches</h2>\n"
        if let queue = status.batchQueue {
            html += "<p class=\"note\" id=\"batch-queue\">\(HTML.integer(queue.enqueuedTokens)) tokens enqueued in \(HTML.integer(queue.openBatches)) open "
            html += "batches · limit \(queue.limit.map { "\(HTML.integer($0)) (\(HTML.escape(queue.limitSource ?? "given")))" } ?? "not known yet") · "
            html += "\(HTML.integer(queue.refusedBatches)) refused for the enqueued-token limit</p>\n"
        }
        html += "<table id=\"batch-list\"><thead><tr><th>batch</th><th>state</th><th class=\"num\">lines</th><th class=\"num\">succeeded</th>"
        html += "<th class=\"num\">failed</th><th class=\"num\">in the batch</th><th class=\"num\">returned</th><th>created</th><th>finished</th>"
        html += "<th>note</th></tr></thead><tbody>\n"
        for batch in batches {
            html += "<tr data-batch=\"\(HTML.escape(batch.id ?? ""))\" data-state=\"\(HTML.escape(batch.state))\" data-lines=\"\(batch.lines)\" "
            html += "data-succeeded=\"\(batch.succeeded)\" data-failed=\"\(batch.failed)\" data-returned=\"\(batch.returned)\">"
            html += "<td class=\"id\">\(HTML.escape(batch.id ?? "file \(batch.inputFileID)"))</td><td>\(HTML.escape(batch.state))</td>"
            html += "<td class=\"num\">\(HTML.integer(batch.lines))</td><td class=\"num\">\(HTML.integer(batch.succeeded))</td>"
            html += "<td class=\"num\">\(HTML.integer(batch.failed))</td><td class=\"num\">\(HTML.integer(batch.inBatch))</td>"
            html += "<td class=\"num\">\(HTML.integer(batch.returned))</td><td>\(HTML.escape(batch.createdAt))</td>"
            html += "<td>\(HTML.escape(batch.finishedAt ?? ""))</td><td>\(HTML.escape(batch.note ?? ""))</td></tr>\n"
        }
        return html + "</tbody></table>\n</section>\n"
    }
}
