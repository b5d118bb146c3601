//! Feed synchronisation: cron-scheduled adapters for e-tendering and finance feeds, an HTTP
//! client with retry and back-off, and per-page transactional bookkeeping of sync runs.
