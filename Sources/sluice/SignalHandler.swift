import Dispatch
import Foundation
import SluiceCore

/// SIGINT/SIGTERM: the first asks the run to stop dispatching and let in-flight
/// requests finish (up to the grace period); the second exits at once. Either
/// way the checkpoint holds every committed result, so the job resumes.
final class SignalHandler: @unchecked Sendable {
    private let control: RunControl
    private let graceSeconds: Double
    private var sources: [DispatchSourceSignal] = []
    private var received = 0
    private let queue = DispatchQueue(label: "sluice.signals")

    init(control: RunControl, graceSeconds: Double) {
        self.control = control
        self.graceSeconds = graceSeconds
    }

    func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.handle(number) }
            source.resume()
            sources.append(source)
        }
    }

    func uninstall() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
    }

    private func handle(_ number: Int32) {
        received += 1
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        if received == 1 {
            FileHandle.standardError.write(Data("\nsluice: \(name): no new requests; waiting up to \(Int(graceSeconds)) s for those in flight (again to exit now)\n".utf8))
            control.stop(.signal(number))
        } else {
            FileHandle.standardError.write(Data("\nsluice: \(name) again: exiting now; committed results are saved, run the same command to resume\n".utf8))
            _exit(128 + number)
        }
    }
}
