import Foundation

extension OwnedFiles {
    /// `export --output` and `report --html`: `path` (and its temporary file) against every file of the job
    /// `argument` names (a job file or a checkpoint), whose settings are the job file's, else the checkpoint's.
    package static func refuseOverwritingJob(
        writing path: String, as name: String, argument: String, reference: JobReference, settings: JobConfiguration?
    ) throws {
        var files = OwnedFiles()
        files.writes(name, name, path, temporary: OutputFile.temporaryPath(for: path))
        if var settings {
            settings.checkpoint = reference.checkpoint
            files.add(job: settings, sources: reference.configuration == nil ? JobSources() : try JobSources.load(jobFile: argument))
        } else {
            files.add(checkpoint: reference.checkpoint)
        }
        try files.refuseClashes()
    }
}
