//! The open-file limit: each connection is a file, so the soft limit (often 1,024) caps the
//! connections the server can hold before `accept` fails for everyone. `gilscope serve`
//! raises it to the hard limit at start, and keeps [`RESERVED_FILES`] of it for everything
//! else (runs' pipes and worker processes, the dashboard's files, logs).

use std::io;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Open files kept for what is not a connection.
pub const RESERVED_FILES: u64 = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard one; answers the soft limit now in force
/// (`u64::MAX` for "unlimited").
pub fn raise_nofile() -> io::Result<u64> {
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if limit.current == limit.maximum {
        return Ok(soft);
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    // Raising the soft limit up to the hard one needs no privilege.
    setrlimit(Resource::Nofile, raised)?;
    Ok(limit.maximum.unwrap_or(u64::MAX))
}

/// Connections the server may hold with `open_files` open files: `wanted`, or fewer.
pub fn connections_for(open_files: u64, wanted: usize) -> usize {
    let room = open_files.saturating_sub(RESERVED_FILES).max(1);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_nofile().unwrap();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
        assert_eq!(soft, limit.current.unwrap_or(u64::MAX));
    }

    #[test]
    fn connections_leave_room_for_other_files() {
        assert_eq!(connections_for(1024, 4096), 768);
        assert_eq!(connections_for(1_048_576, 4096), 4096);
        assert_eq!(connections_for(10, 4096), 1);
    }
}
