//! The filter stage: the hook between lookup and rewrite where security
//! groups (stateful, per port) will decide. Until they do, it passes every
//! packet; the dispatcher already calls it and records it in traces, so
//! the filter slots in without touching the other stages.

use super::super::next::Forward;
use super::super::stats::DropReason;
use super::Ctx;

/// Whether a transit packet may go on toward `fwd`.
#[inline(always)]
pub(crate) fn check(_ctx: &Ctx<'_>, _fwd: &Forward, _l3: &[u8]) -> Result<(), DropReason> {
    Ok(())
}
