import CBuildInfo

/// What `sluice --version` prints. The commit is there because a number alone does not say which
/// build a bug report is about: `make` bakes in `git rev-parse --short HEAD`, a plain `swift build` says "unknown".
enum SluiceVersion {
    /// Raised by hand at each release.
    static let number = "0.4.0"

    static let commit = String(cString: sluice_build_commit())

    static let description = "sluice \(number) (commit \(commit))"
}
