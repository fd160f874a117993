import ArgumentParser
import SluiceCore

/// `--cache exact|semantic|off`.
extension CacheMode: ExpressibleByArgument {}
