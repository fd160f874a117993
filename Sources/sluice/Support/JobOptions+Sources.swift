import Foundation
import SluiceCore

extension JobOptions {
    /// The job file, template file and schema file this job's settings are read from.
    func sources() throws -> JobSources {
        JobSources(jobFile: jobFile, file: try jobFile.map { try JobFile.load(path: $0) }, flags: overrides())
    }

    /// The job's settings, refused when any file the job writes is one it reads or keeps (`OwnedFiles`).
    func checkedConfiguration() throws -> JobConfiguration {
        let configuration = try configuration()
        try OwnedFiles(job: configuration, sources: try sources()).refuseClashes()
        return configuration
    }
}
