//! serde for the public, non-secret types (feature `serde`). Wire types serialize as their
//! canonical encoding (spec §2) — lowercase hex in human-readable formats (JSON), raw bytes
//! otherwise — and deserialize through the strict decoder, so a deserialized value is
//! exactly one that could have been decoded from the wire: no invariant can be bypassed.
//! Secret types (keys, seeds, sessions, storage keys) have no serde at all: export them
//! with their own `to_bytes`/`to_seed` and keep them out of general-purpose serializers.

use alloc::string::String;
use alloc::vec::Vec;
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// Writes `bytes` as hex (human-readable formats) or as a byte string.
pub(crate) fn serialize_bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        let nibble = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(nibble(b >> 4));
            out.push(nibble(b & 0x0f));
        }
        s.serialize_str(&out)
    } else {
        s.serialize_bytes(bytes)
    }
}

/// Reads what [`serialize_bytes`] wrote.
pub(crate) fn deserialize_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct BytesOrHex;
    impl<'de> Visitor<'de> for BytesOrHex {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a hex string or a byte string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            let digit = |c: u8| -> Result<u8, E> {
                match c {
                    b'0'..=b'9' => Ok(c - b'0'),
                    b'a'..=b'f' => Ok(c - b'a' + 10),
                    b'A'..=b'F' => Ok(c - b'A' + 10),
                    _ => Err(E::custom("not a hex digit")),
                }
            };
            let raw = v.as_bytes();
            if raw.len() % 2 != 0 {
                return Err(E::custom("odd number of hex digits"));
            }
            raw.chunks_exact(2)
                .map(|p| match p {
                    [hi, lo] => Ok(digit(*hi)? << 4 | digit(*lo)?),
                    _ => Err(E::custom("odd number of hex digits")),
                })
                .collect()
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    if d.is_human_readable() {
        d.deserialize_str(BytesOrHex)
    } else {
        d.deserialize_bytes(BytesOrHex)
    }
}

/// Implements `Serialize`/`Deserialize` for wire types through their canonical encoding.
macro_rules! via_encoding {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::serde_support::serialize_bytes(&$crate::codec::Encode::to_bytes(self), s)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let bytes = $crate::serde_support::deserialize_bytes(d)?;
                <$t as $crate::codec::Decode>::decode_exact(&bytes)
                    .map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )*};
}

via_encoding!(
    crate::wire::IdentityPublicKey,
    crate::wire::IdentityRecord,
    crate::wire::X25519PrekeyPublic,
    crate::wire::KemPrekeyPublic,
    crate::wire::PrekeyBundle,
    crate::wire::InitialHeader,
    crate::wire::InitialMessage,
    crate::wire::RatchetHeader,
    crate::wire::RatchetMessage,
    crate::envelope::Envelope,
    crate::envelope::SealedSenderContent,
    crate::contact::DiscoveryParameters,
    crate::contact::LookupRequest,
    crate::contact::LookupResponse,
    crate::contact::Registration,
);

/// An error serializes as its stable code and registry name (spec `errors.md`); it is not
/// deserialized (its details are `&'static str`).
impl serde::Serialize for crate::Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 2)?;
        st.serialize_field("code", &self.code())?;
        st.serialize_field("name", self.name())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::bundle::tests::party;
    use crate::codec::Encode;
    use rand_chacha::rand_core::SeedableRng;
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(v: &T) -> String {
        let json = serde_json::to_string(v).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), v, "{json}");
        json
    }

    #[test]
    fn public_types_round_trip_through_their_canonical_encoding() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let p = party(&mut rng, true, true);
        let json = round_trip(&p.bundle);
        assert_eq!(json, format!("\"{}\"", hex::encode(p.bundle.to_bytes())));
        round_trip(&p.bundle.identity_record());
        round_trip(p.identity.public());
        round_trip(&p.bundle.signed_prekey);
        round_trip(&p.bundle.kem_prekey);
        round_trip(&crate::ratchet::Position {
            chain: 3,
            number: 9,
        });
        round_trip(&crate::wire::PrekeyKind::OneTimeKem);
        round_trip(&crate::codec::MessageType::ENVELOPE);
        round_trip(&crate::contact::BucketBits::new(12).unwrap());
        round_trip(&crate::contact::PhoneNumber::parse_canonical("+41446681800").unwrap());
        let other = party(&mut rng, false, false);
        round_trip(&crate::fingerprint::SafetyNumber::new(
            p.identity.public(),
            other.identity.public(),
        ));
        assert_eq!(
            serde_json::to_string(&crate::Error::Duplicate).unwrap(),
            r#"{"code":402,"name":"Duplicate"}"#
        );
    }

    /// Deserializing goes through the strict decoder and the validating constructors: no
    /// value that the wire would refuse can be built through serde.
    #[test]
    fn invalid_values_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let p = party(&mut rng, false, false);
        let mut bytes = p.bundle.to_bytes();
        bytes.push(0);
        let trailing = format!("\"{}\"", hex::encode(&bytes));
        assert!(serde_json::from_str::<crate::PrekeyBundle>(&trailing).is_err());
        assert!(serde_json::from_str::<crate::PrekeyBundle>("\"0g\"").is_err());
        assert!(serde_json::from_str::<crate::contact::BucketBits>("30").is_err());
        assert!(serde_json::from_str::<crate::contact::PhoneNumber>("\"+0123\"").is_err());
    }
}
