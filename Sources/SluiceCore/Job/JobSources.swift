import Foundation

/// The files a job's settings were read from that the configuration keeps only as content: the job file, the
/// template file and the schema file. Carried beside the configuration (the checkpoint stores the template and
/// schema themselves, under the keys it always had) so that `OwnedFiles` can keep every output off them.
package struct JobSources: Sendable, Equatable {
    package var jobFile: String?
    package var template: String?
    package var schema: String?

    package init(jobFile: String? = nil, template: String? = nil, schema: String? = nil) {
        self.jobFile = jobFile
        self.template = template
        self.schema = schema
    }

    /// Where `JobConfiguration.resolve` reads them: a flag's path as given, else the job file's, relative to it.
    package init(jobFile: String?, file: JobFile?, flags: JobFile) {
        let folder = jobFile.map { ($0 as NSString).deletingLastPathComponent }
        func fromFile(_ path: String) -> String { JobConfiguration.pathInJobFile(path, folder: folder) }
        self.jobFile = jobFile
        if case .file(let path) = flags.template {
            template = path
        } else if flags.template == nil, case .file(let path) = file?.template {
            template = fromFile(path)
        }
        if case .string(let path) = flags.schema {
            schema = path
        } else if flags.schema == nil, case .string(let path) = file?.schema {
            schema = fromFile(path)
        }
    }

    /// The sources of a job named by its job file alone (`retry-failed`, `export`, `report`).
    package static func load(jobFile: String) throws -> JobSources {
        JobSources(jobFile: jobFile, file: try JobFile.load(path: jobFile), flags: JobFile())
    }
}
