import ArgumentParser
import SluiceCore

/// `--http-version auto|1.1|2`.
extension HTTPVersionSetting: ExpressibleByArgument {}
