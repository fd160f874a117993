/// `--metrics HOST:PORT` and `--metrics-label-property NAME`.
package struct MetricsSettings: Sendable, Equatable {
    package var host: String
    package var port: Int
    /// Properties whose value labels the per-model metrics (`property_team="search"`).
    package var labelProperties: [String]

    package init(host: String, port: Int, labelProperties: [String] = []) {
        self.host = host
        self.port = port
        self.labelProperties = labelProperties
    }
}
