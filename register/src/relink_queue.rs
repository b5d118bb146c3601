//! Keeping payment links current when contracts change (issue 7: "links are recomputed when
//! either side changes"). The spend side relinks when its file is imported. The contract side
//! changes with every stored release, often many per second while syncing, and relinking a
//! buyer reads all its contracts and payments: too slow for the write path. So storing a
//! release with awards or contracts only queues its buyer and partners (one small insert, in
//! the release's transaction), and [`drain`] relinks the queued buyers later: after a sync run
//! or an import, and on a timer in the daemon.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    audit::now,
    db::DbConnection,
    schema::{grants, relink_queue, spend_transactions},
};

/// Stages at which a process has awards or contracts that payments can be linked to.
pub const LINKABLE_STAGES: [&str; 3] = ["award", "contract", "implementation"];

/// Queues `org_ids` (buyers and partners of a changed contract) for relinking. An org already
/// queued keeps its place. Run it inside the caller's transaction.
pub fn queue<'a>(
    conn: &mut DbConnection,
    org_ids: impl IntoIterator<Item = &'a str>,
) -> QueryResult<()> {
    let queued_at = now();
    let rows: Vec<_> = org_ids
        .into_iter()
        .map(|org| {
            (
                relink_queue::publisher_org_id.eq(org),
                relink_queue::queued_at.eq(queued_at),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Upserts do not go through the multi-backend connection (rust-stack.md, pitfall 2).
    let insert = diesel::insert_into(relink_queue::table)
        .values(rows)
        .on_conflict_do_nothing();
    match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// The orgs waiting to be relinked, oldest first.
pub fn pending(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    relink_queue::table
        .order((
            relink_queue::queued_at.asc(),
            relink_queue::publisher_org_id.asc(),
        ))
        .select(relink_queue::publisher_org_id)
        .load(conn)
}

/// What [`drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Queued orgs taken off the queue.
    pub orgs: u64,
    /// Of those, the ones with payments or grants, whose links were recomputed.
    pub relinked: u64,
    /// Links those orgs' payments and grants have now.
    pub linked: u64,
}

/// Relinks the payments and grants of every queued org that publishes spend or funds grants,
/// and takes it off the queue. Each org is
/// relinked in its own transaction; an org queued again while it was being relinked (its
/// `queued_at` moved on) stays queued for the next drain, so no change is missed.
pub fn drain(conn: &mut DbConnection) -> QueryResult<Drained> {
    let queued: Vec<(String, NaiveDateTime)> = relink_queue::table
        .order((
            relink_queue::queued_at.asc(),
            relink_queue::publisher_org_id.asc(),
        ))
        .select((relink_queue::publisher_org_id, relink_queue::queued_at))
        .load(conn)?;
    let mut drained = Drained::default();
    for (org, queued_at) in queued {
        let has_spend = diesel::select(diesel::dsl::exists(
            spend_transactions::table.filter(spend_transactions::publisher_org_id.eq(&org)),
        ))
        .get_result::<bool>(conn)?;
        let funds_grants = diesel::select(diesel::dsl::exists(
            grants::table.filter(grants::funder_org_id.eq(&org)),
        ))
        .get_result::<bool>(conn)?;
        if has_spend {
            drained.linked += crate::spend::relink(conn, &org)?.linked;
        }
        if funds_grants {
            drained.linked += crate::grant_links::relink_grants(conn, &org)?.linked;
        }
        drained.relinked += u64::from(has_spend || funds_grants);
        diesel::delete(
            relink_queue::table
                .filter(relink_queue::publisher_org_id.eq(&org))
                .filter(relink_queue::queued_at.le(queued_at)),
        )
        .execute(conn)?;
        drained.orgs += 1;
    }
    Ok(drained)
}
