//! Small value types of the stack file that parse (and describe their JSON Schema) themselves.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ipnet::Ipv4Net;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network in CIDR notation, e.g. `10.0.1.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(pub Ipv4Net);

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let net: Ipv4Net = s.parse().map_err(|_| format!("`{s}` is not an IPv4 CIDR block like 10.0.1.0/24"))?;
        if net.network() != net.addr() {
            return Err(format!("`{s}` has host bits set; the network is {}", net.trunc()));
        }
        Ok(Cidr(net))
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An IPv4 CIDR block, e.g. 10.0.1.0/24",
            "pattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
        })
    }
}

/// A duration written as `60s`, `2m` or `1m 30s` (whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u32);

impl Seconds {
    /// As a `Duration`.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0.into())
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parsed =
            humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration like 60s or 2m ({e})"))?;
        if parsed.subsec_nanos() != 0 {
            return Err(format!("`{s}` is not a whole number of seconds"));
        }
        u32::try_from(parsed.as_secs()).map(Seconds).map_err(|_| format!("`{s}` is too long"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Seconds(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: seconds as a number, or text like 60s, 2m, 1m 30s",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": r"^\s*\d+\s*[a-z]+(\s*\d+\s*[a-z]+)*\s*$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!("10.0.1.0/24".parse::<Cidr>().unwrap().to_string(), "10.0.1.0/24");
        assert!("10.0.1.5/24".parse::<Cidr>().unwrap_err().contains("10.0.1.0/24"));
        assert!("10.0.1.0".parse::<Cidr>().is_err());
        assert!("fd00::/8".parse::<Cidr>().is_err());
    }

    #[test]
    fn seconds() {
        assert_eq!("60s".parse::<Seconds>(), Ok(Seconds(60)));
        assert_eq!("2m".parse::<Seconds>(), Ok(Seconds(120)));
        assert_eq!("1m 30s".parse::<Seconds>(), Ok(Seconds(90)));
        assert!("soon".parse::<Seconds>().is_err());
        assert!("1500ms".parse::<Seconds>().is_err());
        assert_eq!(serde_saphyr::from_str::<Seconds>("45").unwrap(), Seconds(45));
    }
}
