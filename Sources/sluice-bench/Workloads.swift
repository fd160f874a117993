import Foundation
import SluiceCore

/// Input files for the benchmarks: prompt lines whose text varies, so gzip
/// compresses them about as well as it compresses real prompt datasets.
enum Workloads {
    static func promptLine(_ index: Int) -> String {
        #"{"id":"item-\#(index)","prompt":"Classify ticket \#(index): customer \#(index &* 7919 % 100_003) reports that feature \#(index % 97) fails after update \#(index % 13).","metadata":{"shard":\#(index % 16)}}"#
    }

    /// Writes `count` prompt lines; gzip when the name ends in `.gz`. Returns the uncompressed size.
    @discardableResult
    static func writePrompts(_ path: String, count: Int) throws -> Int {
        let file = try OutputFile(path: path)
        var bytes = 0
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        for index in 0..<count {
            chunk += Array(promptLine(index).utf8)
            chunk.append(0x0A)
            if chunk.count >= 1 << 20 {
                bytes += chunk.count
                try file.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        bytes += chunk.count
        try file.write(chunk)
        try file.commit()
        return bytes
    }
}
