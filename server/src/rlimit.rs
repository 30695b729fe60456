//! The open-file limit: each connection is a file, so the soft limit (often 1,024) caps the
//! connections the server can hold before `accept` fails for everyone. `gilscope serve`
//! raises it to the hard limit at start, and keeps [`RESERVED_FILES`] of it for everything
//! else (runs' pipes and worker processes, the dashboard's files, logs).

use std::io;

/// Open files kept for what is not a connection.
pub const RESERVED_FILES: libc::rlim_t = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard one; answers the soft limit now in force.
pub fn raise_nofile() -> io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` into `limit`, which we own and which lives for
    // the whole call; RLIMIT_NOFILE is a valid resource.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok(limit.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `setrlimit` only reads `raised`, which lives for the whole call; raising the
    // soft limit up to the hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(raised.rlim_cur)
}

/// Connections the server may hold with `open_files` open files: `wanted`, or fewer.
pub fn connections_for(open_files: libc::rlim_t, wanted: usize) -> usize {
    let room = open_files.saturating_sub(RESERVED_FILES).max(1);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_nofile().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in `raise_nofile`.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert_eq!(soft, limit.rlim_cur);
    }

    #[test]
    fn connections_leave_room_for_other_files() {
        assert_eq!(connections_for(1024, 4096), 768);
        assert_eq!(connections_for(1_048_576, 4096), 4096);
        assert_eq!(connections_for(10, 4096), 1);
    }
}
