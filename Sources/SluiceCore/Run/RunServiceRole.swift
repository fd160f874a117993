import ServiceLifecycle

/// What a service is to the run's `ServiceGroup`, said once for all of them. The group logs each service's
/// name (a name, not a description, which could print a service's fields).
enum RunServiceRole {
    /// The run needs it: ending on its own is fine (its work was done), failing stops the run.
    case essential
    /// It only reports (history, metrics, progress): whether it ends or fails, the run goes on.
    case reporting
    /// Its end is the run's end (the dispatcher, once every item is settled): the group then shuts down.
    case ending
}

extension ServiceGroupConfiguration.ServiceConfiguration {
    static func run(_ service: any Service, _ name: String, _ role: RunServiceRole = .essential) -> Self {
        switch role {
        case .essential:
            .init(
                service: HeldUntilShutdown(service), successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: name)
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
private struct HeldUntilShutdown: Service {
    let service: any Service
    init(_ service: any Service) { self.service = service }

    func run() async throws {
        try await service.run()
        try? await gracefulShutdown()
    }
}
