import Foundation
import Logging

/// `sluice cancel` on a job that no sluice is running: its open provider batches would otherwise run (and
/// bill) to their end at the gateway. Cancels each; a later run collects what they finished.
///
/// ```swift
/// let cancelled = try await BatchCanceller.cancelOpenBatches(in: store, configuration: config, apiKey: key, logger: logger)
/// ```
package enum BatchCanceller {
    /// The ids of the batches the gateway accepted to cancel.
    package static func cancelOpenBatches(
        in store: any CheckpointStore, configuration: JobConfiguration, apiKey: String?, logger: Logger
    )
        async throws -> [String]
    {
        let open = try await store.batches(openOnly: true).compactMap(\.batchID)
        guard !open.isEmpty else { return [] }
        let transport = try JobRunner.transport(for: configuration, apiKey: apiKey, proxyFlag: nil, logger: logger)
        let api = BatchAPIClient(
            transport: transport, builder: RequestBuilder(baseURL: configuration.baseURL, defaultModel: configuration.model, settings: configuration.gateway),
            headers: configuration.batchProvider.map { [("floopy-provider", $0)] } ?? [], timeout: configuration.timeoutSeconds,
            redactor: try configuration.redactor(
                apiKey: apiKey,
                proxyPassword: (try? ProxySetting.resolve(flag: nil, baseURL: configuration.baseURL, environment: ProcessInfo.processInfo.environment))?
                    .password))
        var cancelled: [String] = []
        for id in open {
            do {
                _ = try await api.cancel(id)
                cancelled.append(id)
            } catch {
                logger.warning("could not cancel batch \(id): \(error)")
            }
        }
        await transport.shutdown()
        return cancelled
    }
}
