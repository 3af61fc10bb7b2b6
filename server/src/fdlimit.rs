//! The open-file limit the relay needs for `max_connections`, raised at start.
//!
//! Every connection is a socket, and each of its uploads in flight holds a temp
//! file open; past the process's soft limit (often 1,024) `accept` fails and new
//! clients get nothing. The soft limit is raised toward the hard one; where even
//! the hard limit is too low, `max_connections` is lowered to fit, and the log says so.

/// Descriptors kept for everything else: the listener, the runtime, room files
/// being read or written, the data directory's lock.
const RESERVE: u64 = 64;

/// Descriptors `connections` connections may hold at worst.
pub fn needed(connections: usize, uploads_per_connection: usize) -> u64 {
    (connections as u64).saturating_mul(1 + uploads_per_connection as u64) + RESERVE
}

/// How many connections fit in `limit` descriptors.
pub fn connections_within(limit: u64, uploads_per_connection: usize) -> usize {
    let per = 1 + uploads_per_connection as u64;
    usize::try_from(limit.saturating_sub(RESERVE) / per).unwrap_or(usize::MAX)
}

/// Raises the soft limit to what `max_connections` needs if the hard limit
/// allows; returns the number of connections that fit the limit in force.
#[cfg(unix)]
pub fn fit(max_connections: usize, uploads_per_connection: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let want = needed(max_connections, uploads_per_connection);
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= want {
        return max_connections;
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let target = want.min(hard);
    // Nothing to ask for when the hard limit is where the soft one already is.
    let in_force = if target <= current {
        current
    } else {
        let raised = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            },
        );
        match raised {
            Ok(()) => {
                tracing::info!(from = current, to = target, "raised the open-file limit");
                target
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not raise the open-file limit");
                current
            }
        }
    };
    let fits = connections_within(in_force, uploads_per_connection).min(max_connections);
    if fits < max_connections {
        tracing::warn!(
            open_files = in_force,
            max_connections = fits,
            wanted = max_connections,
            "the open-file limit is too low: lowering max_connections to fit (raise `ulimit -Hn`)"
        );
    }
    fits
}

#[cfg(not(unix))]
pub fn fit(max_connections: usize, _uploads_per_connection: usize) -> usize {
    max_connections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_and_descriptors_agree() {
        assert_eq!(needed(4096, 4), 4096 * 5 + RESERVE);
        assert_eq!(connections_within(needed(4096, 4), 4), 4096);
        assert_eq!(connections_within(1024, 4), (1024 - 64) / 5);
        assert_eq!(connections_within(10, 4), 0);
    }

    #[test]
    fn the_limit_in_force_fits_what_fit_returns() {
        let fits = fit(4096, 4);
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let current = limit.current.unwrap_or(u64::MAX);
        assert!(
            needed(fits, 4) <= current.max(needed(0, 4)),
            "{fits} connections, {current} files"
        );
    }
}
