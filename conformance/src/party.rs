//! A party's secret material as it appears in vector files, and how to rebuild the party's
//! identity, prekey store and bundle from it.

use crate::util::*;
use blindrelay::keys::*;
use blindrelay::{BundleKeys, PrekeyBundle};
use serde_json::{json, Map, Value};

/// The secrets of one party, as hex strings in a JSON object.
pub fn generate(r: &mut rand_chacha::ChaCha20Rng, opk: bool, otk: bool) -> Value {
    let mut m = Map::new();
    m.insert("identitySeed".into(), h(fill::<32>(r)));
    m.insert("mailbox".into(), h(fill::<32>(r)));
    m.insert("sealingSecret".into(), h(fill::<32>(r)));
    m.insert("signedPrekeyId".into(), json!(1));
    m.insert("signedPrekeySecret".into(), h(fill::<32>(r)));
    m.insert("kemPrekeyId".into(), json!(2));
    m.insert("kemPrekeySeed".into(), h(fill::<64>(r)));
    if opk {
        m.insert("oneTimePrekeyId".into(), json!(3));
        m.insert("oneTimePrekeySecret".into(), h(fill::<32>(r)));
    }
    if otk {
        m.insert("oneTimeKemPrekeyId".into(), json!(4));
        m.insert("oneTimeKemPrekeySeed".into(), h(fill::<64>(r)));
    }
    Value::Object(m)
}

/// A party rebuilt from its secrets.
#[allow(dead_code, reason = "fields used by later vector families")]
pub struct Party {
    pub identity: IdentityKeyPair,
    pub sealing: SealingKeySecret,
    pub mailbox: [u8; 32],
    pub store: MemoryPrekeyStore,
    pub bundle: PrekeyBundle,
}

fn id(v: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}

pub fn build(v: &Value) -> Result<Party, String> {
    let identity = IdentityKeyPair::from_seed(&arr(v, "identitySeed")?);
    let sealing = SealingKeySecret::from_bytes(arr(v, "sealingSecret")?);
    let mailbox = arr(v, "mailbox")?;
    let spk = SignedPrekeySecret::from_bytes(arr(v, "signedPrekeySecret")?);
    let kpk = KemPrekeySecret::from_bytes(arr(v, "kemPrekeySeed")?);
    let opk = match v.get("oneTimePrekeySecret") {
        Some(_) => Some((
            id(v, "oneTimePrekeyId")?,
            OneTimePrekeySecret::from_bytes(arr(v, "oneTimePrekeySecret")?),
        )),
        None => None,
    };
    let otk = match v.get("oneTimeKemPrekeySeed") {
        Some(_) => Some((
            id(v, "oneTimeKemPrekeyId")?,
            OneTimeKemPrekeySecret::from_bytes(arr(v, "oneTimeKemPrekeySeed")?),
        )),
        None => None,
    };
    let (spk_id, kem_id) = (id(v, "signedPrekeyId")?, id(v, "kemPrekeyId")?);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox,
        sealing: &sealing,
        signed_prekey: (spk_id, &spk),
        kem_prekey: (kem_id, &kpk),
        one_time_prekey: opk.as_ref().map(|(i, s)| (*i, s)),
        one_time_kem_prekey: otk.as_ref().map(|(i, s)| (*i, s)),
    });
    let mut store = MemoryPrekeyStore::new();
    store.insert_signed_prekey(spk_id, spk);
    store.insert_kem_prekey(kem_id, kpk);
    if let Some((i, s)) = opk {
        store.insert_one_time_prekey(i, s);
    }
    if let Some((i, s)) = otk {
        store.insert_one_time_kem_prekey(i, s);
    }
    Ok(Party {
        identity,
        sealing,
        mailbox,
        store,
        bundle,
    })
}
