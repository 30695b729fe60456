//! The URLs students open: one per address of this machine that other machines can reach.

use std::net::{IpAddr, SocketAddr};

/// The students' URLs for a server bound to `local`, reading this machine's interfaces.
pub fn student_urls(local: SocketAddr) -> Vec<String> {
    let addresses: Vec<IpAddr> = match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .iter()
            .filter(|i| i.is_oper_up() || i.ip().is_ipv4())
            .map(|i| i.ip())
            .collect(),
        Err(err) => {
            tracing::warn!("cannot list this machine's addresses: {err}");
            Vec::new()
        }
    };
    urls_for(local, &addresses)
}

/// The students' URLs for a server bound to `local` on a machine with `addresses`: the bound
/// address itself, or, bound to all interfaces, each address of its family that is neither
/// loopback nor link-local (IPv4 first). Bound to loopback, only this machine can follow.
pub fn urls_for(local: SocketAddr, addresses: &[IpAddr]) -> Vec<String> {
    let ip = local.ip();
    if !ip.is_unspecified() {
        return vec![url(ip, local.port())];
    }
    let mut reachable: Vec<IpAddr> = addresses
        .iter()
        .copied()
        .filter(|a| !a.is_loopback() && !is_link_local(*a))
        .filter(|a| a.is_ipv4() || ip.is_ipv6())
        .collect();
    reachable.sort_by_key(|a| (a.is_ipv6(), *a));
    reachable.dedup();
    reachable
        .into_iter()
        .map(|a| url(a, local.port()))
        .collect()
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

fn url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn all_interfaces_give_every_reachable_address() {
        let machine = ips(&[
            "127.0.0.1",
            "192.168.1.20",
            "169.254.3.4",
            "10.0.0.5",
            "::1",
            "fe80::1",
            "2001:db8::7",
        ]);
        assert_eq!(
            urls_for("0.0.0.0:7878".parse().unwrap(), &machine),
            ["http://10.0.0.5:7878/", "http://192.168.1.20:7878/"]
        );
        assert_eq!(
            urls_for("[::]:80".parse().unwrap(), &machine),
            [
                "http://10.0.0.5:80/",
                "http://192.168.1.20:80/",
                "http://[2001:db8::7]:80/"
            ]
        );
    }

    #[test]
    fn a_bound_address_is_the_only_one() {
        assert_eq!(
            urls_for("192.168.1.20:9000".parse().unwrap(), &[]),
            ["http://192.168.1.20:9000/"]
        );
        assert_eq!(
            urls_for("127.0.0.1:7878".parse().unwrap(), &ips(&["10.0.0.5"])),
            ["http://127.0.0.1:7878/"]
        );
    }
}
