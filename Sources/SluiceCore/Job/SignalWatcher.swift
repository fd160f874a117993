import Foundation
import ServiceLifecycle
import UnixSignals

/// SIGINT/SIGTERM for a run: the first records why the run stops (so the exit
/// code says which signal, 130 or 143), which makes the dispatcher take no new
/// items and give those in flight the grace period; once it has drained, the
/// group stops the other services in order, everything committed. A second
/// signal exits at once. Either way the checkpoint holds every committed
/// result, so the job resumes.
///
/// Listed first in the run's group, so it is shut down last and still hears a
/// second signal while the others drain.
///
/// ```swift
/// ServiceGroupConfiguration.ServiceConfiguration(service: SignalWatcher(control: control, graceSeconds: 30), serviceName: "signals")
/// ```
package struct SignalWatcher: Service {
    private let control: RunControl
    private let graceSeconds: Double

    package init(control: RunControl, graceSeconds: Double) {
        self.control = control
        self.graceSeconds = graceSeconds
    }

    package func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        var received = 0
        for await signal in signals.cancelOnGracefulShutdown() {
            received += 1
            let number = signal == .sigint ? SIGINT : SIGTERM
            let name = signal == .sigint ? "SIGINT" : "SIGTERM"
            if received == 1 {
                FileHandle.standardError.write(
                    Data("\nsluice: \(name): no new requests; waiting up to \(Int(graceSeconds)) s for those in flight (again to exit now)\n".utf8))
                control.stop(.signal(number))
            } else {
                FileHandle.standardError.write(Data("\nsluice: \(name) again: exiting now; committed results are saved, run the same command to resume\n".utf8))
                _exit(128 + number)
            }
        }
    }
}
