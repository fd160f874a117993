import ArgumentParser
import SluiceCore

/// `--mode live|batch|auto`; an unknown mode is refused with the list.
extension JobMode: ExpressibleByArgument {}
