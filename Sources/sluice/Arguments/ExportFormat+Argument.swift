import ArgumentParser
import SluiceCore

extension ExportFormat: ExpressibleByArgument {}
extension ExportSelection: ExpressibleByArgument {}
