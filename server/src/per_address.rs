//! Connections open per client address, within [`crate::limits::Limits::connections_per_address`]:
//! one address cannot take the room's share of sockets. IPv4 seen through a dual-stack socket
//! counts as itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The count of open connections per address; cheap to clone.
#[derive(Clone, Debug)]
pub struct PerAddress {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

/// One connection's place among its address's; dropping it frees it.
#[derive(Debug)]
pub struct Slot {
    of: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    pub fn new(max: usize) -> PerAddress {
        PerAddress {
            open: Arc::default(),
            max,
        }
    }

    /// A place for one more connection from `ip`, unless `max` are open.
    pub fn take(&self, ip: IpAddr) -> Option<Slot> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            of: self.clone(),
            ip,
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_share() {
        let per = PerAddress::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = per.take(a).unwrap();
        let _second = per.take(mapped).unwrap();
        assert!(per.take(a).is_none());
        let _other = per.take(b).unwrap();
        drop(first);
        assert!(per.take(a).is_some());
        assert!(per.open.lock().unwrap().len() <= 2);
    }
}
