import ArgumentParser
import SluiceCore

/// `--reask reason|same`; an unknown value is refused with the list.
extension ReaskMode: ExpressibleByArgument {}
