/// `--stream`: which requests are streamed, and the two body members that ask
/// for it, spliced like the profile's members so the stored body is not re-encoded.
extension RequestBuilder {
    /// What streaming adds to one item's body.
    package struct StreamPlan: Sendable, Equatable {
        package var members: [BodyEdit.Member]
    }

    /// Only chat completions are streamed: the other endpoints' events are
    /// shaped differently, and an embedding has no tokens to wait for.
    package static func streams(endpoint: String) -> Bool { endpoint.hasSuffix("/chat/completions") }

    static let streamMember = BodyEdit.Member(key: "stream", json: Array("true".utf8))
    /// Without it the usage (and so the cost) of a streamed answer is never sent.
    static let usageMember = BodyEdit.Member(key: "stream_options", json: Array(#"{"include_usage":true}"#.utf8))

    /// This builder with `--stream` on or off.
    package func streaming(_ on: Bool) -> RequestBuilder {
        var copy = self
        copy.stream = on
        return copy
    }

    /// Nil when the item is not streamed. A line that sets `stream` or
    /// `stream_options` itself keeps its own value (and `"stream": false` keeps
    /// that line unstreamed); a body is scanned only if it mentions `"stream`.
    func streamPlan(for item: DispatchItem) -> StreamPlan? {
        guard stream, Self.streams(endpoint: item.endpoint) else { return nil }
        guard Self.mentionsStream(item.body), let members = (try? JSONScanner.members(of: item.body)) ?? nil else {
            return StreamPlan(members: [Self.streamMember, Self.usageMember])
        }
        var own: [String: ArraySlice<UInt8>] = [:]
        for member in members { own[RawObject.keyText(member.key)] = item.body[member.value] }
        if let value = own["stream"], !value.elementsEqual("true".utf8) { return nil }
        var add: [BodyEdit.Member] = []
        if own["stream"] == nil { add.append(Self.streamMember) }
        if own["stream_options"] == nil { add.append(Self.usageMember) }
        return StreamPlan(members: add)
    }

    /// Whether `"stream` occurs anywhere in the body: almost no body says it, so almost none is scanned.
    static func mentionsStream(_ body: [UInt8]) -> Bool {
        let needle = Array(#""stream"#.utf8)
        guard body.count >= needle.count else { return false }
        var index = body.startIndex
        while let found = body[index...].firstIndex(of: needle[0]) {
            if body[found...].starts(with: needle) { return true }
            index = found + 1
        }
        return false
    }
}
