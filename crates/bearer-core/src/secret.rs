//! Newtypes for credentials. Each one zeroizes its bytes on drop and prints `[redacted]` in
//! `Debug`; none implements `Display`, so a secret cannot end up in a formatted message by
//! accident. Read the value with `secret()` where it must go on the wire.

use zeroize::Zeroizing;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Zeroizing::new(value.into()))
            }

            /// The secret itself, for the one place that must send it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_newtype!(
    /// An OAuth2 access token: what goes after `Bearer ` in the `Authorization` header.
    AccessToken
);
secret_newtype!(
    /// An OAuth2 refresh token, kept inside the source that received it.
    RefreshToken
);
secret_newtype!(
    /// A client secret (or API secret) used to authenticate the client at the token endpoint.
    ClientSecret
);
secret_newtype!(
    /// A resource owner's password, for the password grant.
    Password
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let shown = format!(
            "{:?} {:?} {:?} {:?}",
            AccessToken::new("tok-1"),
            RefreshToken::new("ref-2"),
            ClientSecret::new("sec-3"),
            Password::new("pw-4"),
        );
        for secret in ["tok-1", "ref-2", "sec-3", "pw-4"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("AccessToken([redacted])"));
    }

    #[test]
    fn secret_returns_the_value() {
        assert_eq!(ClientSecret::from("s3cr3t").secret(), "s3cr3t");
    }
}
