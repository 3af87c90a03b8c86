// A small string helper shared by the host's modules (they all link FactoryJSON) without Foundation.
extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }

    /// Python's `str.split(separator)` (no Foundation): the pieces between occurrences.
    public func splitting(on separator: String) -> [String] {
        guard !separator.isEmpty else { return [self] }
        var pieces: [String] = []
        var rest = Substring(self)
        while let r = rest.firstRange(of: separator) {
            pieces.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        return pieces + [String(rest)]
    }
}
