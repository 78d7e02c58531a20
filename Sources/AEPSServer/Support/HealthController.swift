import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (the database answers and its schema is current).
struct HealthController {
    let database: AppDatabase

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(.ok, [("status", .string("ok"))])
        }
        router.get("/readyz") { _, context in
            do {
                let pending = try await database.pendingMigrations()
                guard pending.isEmpty else {
                    return JSONResponse.make(.serviceUnavailable, [
                        ("status", .string("not_ready")),
                        ("reason", .string("pending migrations: \(pending.joined(separator: ", ")); run aeps migrate")),
                    ])
                }
                return JSONResponse.make(.ok, [("status", .string("ready"))])
            } catch {
                context.logger.error("readiness check failed", metadata: ["error": "\(error)"])
                return JSONResponse.make(.serviceUnavailable, [
                    ("status", .string("not_ready")), ("reason", .string("database unreachable")),
                ])
            }
        }
    }
}
