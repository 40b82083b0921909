//! Zuora's hosts.

use bearer_core::Error;

/// Where a Zuora tenant lives. Each environment has its own REST host; tokens of one do not
/// work on another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZuoraEnvironment {
    /// US production (Developer & Central Sandbox): `https://rest.zuora.com`.
    UsProduction,
    /// US API Sandbox: `https://rest.apisandbox.zuora.com`.
    UsApiSandbox,
    /// US Cloud production: `https://rest.na.zuora.com`.
    UsCloudProduction,
    /// US Cloud API Sandbox: `https://rest.sandbox.na.zuora.com`.
    UsCloudApiSandbox,
    /// US Central Sandbox: `https://rest.test.zuora.com`.
    UsCentralSandbox,
    /// EU production: `https://rest.eu.zuora.com`.
    EuProduction,
    /// EU API Sandbox: `https://rest.sandbox.eu.zuora.com`.
    EuApiSandbox,
    /// EU Central Sandbox: `https://rest.test.eu.zuora.com`.
    EuCentralSandbox,
    /// APAC production: `https://rest.ap.zuora.com`.
    ApacProduction,
    /// APAC Central Sandbox: `https://rest.test.ap.zuora.com`.
    ApacCentralSandbox,
    /// US Performance Test: `https://rest.pt1.zuora.com`.
    UsPerformanceTest,
    /// Any other base URL (a proxy, a simulator), without a trailing slash.
    Custom(String),
}

/// Every named environment with the name [`ZuoraEnvironment::from_name`] accepts.
const NAMED: [(&str, ZuoraEnvironment); 11] = [
    ("us-production", ZuoraEnvironment::UsProduction),
    ("us-api-sandbox", ZuoraEnvironment::UsApiSandbox),
    ("us-cloud-production", ZuoraEnvironment::UsCloudProduction),
    ("us-cloud-api-sandbox", ZuoraEnvironment::UsCloudApiSandbox),
    ("us-central-sandbox", ZuoraEnvironment::UsCentralSandbox),
    ("eu-production", ZuoraEnvironment::EuProduction),
    ("eu-api-sandbox", ZuoraEnvironment::EuApiSandbox),
    ("eu-central-sandbox", ZuoraEnvironment::EuCentralSandbox),
    ("apac-production", ZuoraEnvironment::ApacProduction),
    ("apac-central-sandbox", ZuoraEnvironment::ApacCentralSandbox),
    ("us-performance-test", ZuoraEnvironment::UsPerformanceTest),
];

impl ZuoraEnvironment {
    /// The REST base URL.
    pub fn base_url(&self) -> &str {
        match self {
            Self::UsProduction => "https://rest.zuora.com",
            Self::UsApiSandbox => "https://rest.apisandbox.zuora.com",
            Self::UsCloudProduction => "https://rest.na.zuora.com",
            Self::UsCloudApiSandbox => "https://rest.sandbox.na.zuora.com",
            Self::UsCentralSandbox => "https://rest.test.zuora.com",
            Self::EuProduction => "https://rest.eu.zuora.com",
            Self::EuApiSandbox => "https://rest.sandbox.eu.zuora.com",
            Self::EuCentralSandbox => "https://rest.test.eu.zuora.com",
            Self::ApacProduction => "https://rest.ap.zuora.com",
            Self::ApacCentralSandbox => "https://rest.test.ap.zuora.com",
            Self::UsPerformanceTest => "https://rest.pt1.zuora.com",
            Self::Custom(url) => url.trim_end_matches('/'),
        }
    }

    /// An environment by name (`us-production`, `eu-api-sandbox`, … as listed on each
    /// variant, lower-case with dashes), or a custom base URL when `name` starts with
    /// `http://` or `https://`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let name = name.trim();
        if name.starts_with("https://") || name.starts_with("http://") {
            return Ok(Self::Custom(name.to_owned()));
        }
        NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, env)| env.clone())
            .ok_or_else(|| Error::Config(format!("unknown Zuora environment `{name}`").into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_host() {
        let hosts: Vec<&str> = NAMED.iter().map(|(_, e)| e.base_url()).collect();
        assert_eq!(hosts.len(), 11);
        assert!(hosts.iter().all(|h| h.starts_with("https://rest.") && h.ends_with(".zuora.com")));
        assert_eq!(ZuoraEnvironment::from_name("eu-api-sandbox").ok(), Some(ZuoraEnvironment::EuApiSandbox));
        assert_eq!(
            ZuoraEnvironment::from_name("EU-Production").map(|e| e.base_url().to_owned()).ok().as_deref(),
            Some("https://rest.eu.zuora.com")
        );
        assert_eq!(
            ZuoraEnvironment::from_name("http://127.0.0.1:9/").map(|e| e.base_url().to_owned()).ok().as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert!(ZuoraEnvironment::from_name("mars").is_err());
    }
}
