import ServiceLifecycle

/// What a service is to the run's `ServiceGroup`, said once for all of them. The group logs each service's
/// name (a name, not a description, which could print a service's fields).
enum RunServiceRole {
    /// The run needs it: ending on its own is fine (its work was done); failing stops the run through its
    /// control, as every other reason to stop does (see `JobRun`).
    case essential(RunControl)
    /// It only reports (history, metrics, progress): whether it ends or fails, the run goes on.
    case reporting
    /// Its end is the run's end (the dispatcher, once every item is settled): the group then shuts down.
    case ending
}

extension ServiceGroupConfiguration.ServiceConfiguration {
    static func run(_ service: any Service, _ name: String, _ role: RunServiceRole) -> Self {
        switch role {
        case .essential(let control):
            .init(
                service: HeldUntilShutdown(service, stopping: control), successTerminationBehavior: .ignore,
                failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name)
        case .reporting:
            .init(service: HeldUntilShutdown(service), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: name)
        case .ending:
            .init(
                service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: name)
        }
    }
}

/// A service whose work is done waits for the group to stop it. swift-service-lifecycle (2.13, `ServiceGroup`'s
/// graceful-shutdown loop) takes a service that returns while the group is stopping another one as an
/// unexpected end, and cancels every service, whatever its success behaviour: the planner finishing while
/// the dispatcher drains would cut the drain short. Said here once instead of in each service.
///
/// An essential service that fails does the same: it asks the run to stop through `control` and keeps its
/// error until the group stops it, so the group's shutdown still begins only with the dispatcher's end (after
/// the grace period), and the services after the dispatcher are not stopped while it drains.
private struct HeldUntilShutdown: Service {
    let service: any Service
    let control: RunControl?
    init(_ service: any Service, stopping control: RunControl? = nil) {
        self.service = service
        self.control = control
    }

    func run() async throws {
        do {
            try await service.run()
        } catch {
            guard let control else { throw error }
            control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
            try? await gracefulShutdown()
            throw error
        }
        try? await gracefulShutdown()
    }
}
