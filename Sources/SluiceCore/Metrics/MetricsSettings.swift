/// `--metrics HOST:PORT` and `--metrics-label-property NAME`.
public struct MetricsSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Properties whose value labels the per-model metrics (`property_team="search"`).
    public var labelProperties: [String]

    public init(host: String, port: Int, labelProperties: [String] = []) {
        self.host = host
        self.port = port
        self.labelProperties = labelProperties
    }
}
