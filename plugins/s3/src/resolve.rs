//! `--s3-resolve HOST=IP[,HOST=IP…]`: pin host names to addresses (like curl's `--resolve`), for
//! split DNS, private endpoints, and virtual-hosted buckets on hosts DNS does not know.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferry_core::{Error, Result};
use object_store::client::{DnsFuture, DnsResolver};

/// Pinned hosts; every other host goes to the system resolver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinnedHosts(BTreeMap<String, IpAddr>);

impl PinnedHosts {
    /// Parses `host=ip,host=ip`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut map = BTreeMap::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (host, ip) = item.split_once('=').ok_or_else(|| {
                Error::invalid_input(format!("--s3-resolve takes HOST=IP pairs, not {item:?}"))
            })?;
            let ip: IpAddr = ip.trim().parse().map_err(|_| {
                Error::invalid_input(format!("--s3-resolve: {ip:?} is not an IP address"))
            })?;
            map.insert(host.trim().to_ascii_lowercase(), ip);
        }
        Ok(PinnedHosts(map))
    }

    /// The pinned hosts and their addresses.
    pub fn entries(&self) -> impl Iterator<Item = (&str, IpAddr)> {
        self.0.iter().map(|(h, ip)| (h.as_str(), *ip))
    }

    /// Whether no host is pinned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl DnsResolver for PinnedHosts {
    fn resolve(&self, host: &str) -> DnsFuture {
        let pinned = self.0.get(&host.to_ascii_lowercase()).copied();
        let host = host.to_string();
        Box::pin(async move {
            if let Some(ip) = pinned {
                return Ok(vec![ip]);
            }
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pins_and_falls_back() {
        let p = PinnedHosts::parse("bkt.localhost=127.0.0.1, other=::1").unwrap();
        assert_eq!(
            p.resolve("BKT.localhost").await.unwrap(),
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert!(p
            .resolve("localhost")
            .await
            .unwrap()
            .iter()
            .all(|ip| ip.is_loopback()));
        assert!(PinnedHosts::parse("nohost").is_err());
        assert!(PinnedHosts::parse("h=notanip").is_err());
    }
}
