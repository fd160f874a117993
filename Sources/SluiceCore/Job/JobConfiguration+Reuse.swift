import Foundation

extension JobConfiguration {
    /// The checkpoints `--reuse` names: a folder stands for the sluice checkpoints under it, and the job's own
    /// checkpoint (compared as a file, so also when seen through a symlinked folder) is never among them.
    var reuseCheckpoints: [String] {
        let own = FileIdentity(path: checkpoint)
        return reuse.flatMap { location -> [String] in
            var isFolder: ObjCBool = false
            let folder = FileManager.default.fileExists(atPath: location, isDirectory: &isFolder) && isFolder.boolValue
            return folder ? CheckpointFiles.under(location) : [location]
        }.filter { !FileIdentity(path: $0).isSameFile(as: own) }
    }
}
