import Foundation

/// A JSON object as a list of members pointing into the line's bytes, so a
/// request body can be assembled by splicing members instead of decoding and
/// re-encoding them. When a key appears twice the last one wins, as in
/// JSONSerialization.
struct RawObject {
    let bytes: [UInt8]
    let members: [JSONScanner.Member]
    private let lastIndex: [String: Int]

    init(bytes: [UInt8], members: [JSONScanner.Member]) {
        self.bytes = bytes
        self.members = members
        var lastIndex: [String: Int] = [:]
        for (index, member) in members.enumerated() { lastIndex[Self.keyText(member.key)] = index }
        self.lastIndex = lastIndex
    }

    /// Keys rarely hold escapes; decode them only when they do.
    static func keyText(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        let quoted = [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]
        return ((try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed)) as? String)
            ?? String(decoding: raw, as: UTF8.self)
    }

    func has(_ key: String) -> Bool { lastIndex[key] != nil }

    /// Whether any of `keys` is present: a line has few members, so they are looked up in `keys`, not the reverse.
    func hasAny(of keys: Set<String>) -> Bool { lastIndex.keys.contains(where: keys.contains) }

    func raw(_ key: String) -> ArraySlice<UInt8>? {
        lastIndex[key].map { bytes[members[$0].value] }
    }

    /// The first byte of a member's value: `"` string, `[` array, `{` object...
    func kind(_ key: String) -> UInt8? { raw(key)?.first }

    func string(_ key: String) -> String? {
        guard let value = raw(key), value.first == UInt8(ascii: "\"") else { return nil }
        return JSONScanner.string(value) ?? (decode(value) as? String)
    }

    /// Decodes one member with Foundation; used only for the rare, small settings fields.
    func value(_ key: String) -> Any? { raw(key).flatMap(decode) }

    private func decode(_ value: ArraySlice<UInt8>) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(value), options: .fragmentsAllowed)
    }

    func object(_ key: String) -> RawObject? {
        guard let index = lastIndex[key], let inner = JSONScanner.members(of: bytes, in: members[index].value) else { return nil }
        return RawObject(bytes: bytes, members: inner)
    }

    /// Appends the members whose keys are not in `excluded` as `"key":value`,
    /// each preceded by a comma unless it is the first thing in `out` after `{`.
    func appendMembers(excluding excluded: Set<String>, to out: inout [UInt8]) {
        for (index, member) in members.enumerated() {
            let key = Self.keyText(member.key)
            guard !excluded.contains(key), lastIndex[key] == index else { continue }
            if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out += member.key
            out += [UInt8(ascii: "\""), UInt8(ascii: ":")]
            out += bytes[member.value]
        }
    }
}
