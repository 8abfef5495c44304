//! The at-rest layout of a customer's personal fields: one blob holding, per field key, that
//! field's sealed value. Each value is sealed on its own (bound to customer and field), so a
//! reader opens only the fields it may see and an update replaces one entry without
//! opening the others.

use std::collections::BTreeMap;

const LAYOUT_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored field blob is malformed")]
pub struct MalformedFields;

/// Field key → sealed bytes, ordered by key so the encoding is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedFields(BTreeMap<String, Vec<u8>>);

impl SealedFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, field: &str, sealed: Vec<u8>) {
        self.0.insert(field.to_string(), sealed);
    }

    pub fn remove(&mut self, field: &str) -> Option<Vec<u8>> {
        self.0.remove(field)
    }

    pub fn get(&self, field: &str) -> Option<&[u8]> {
        self.0.get(field).map(Vec::as_slice)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn encode(&self) -> Vec<u8> {
        let size = 1 + self
            .0
            .iter()
            .map(|(k, v)| 1 + k.len() + 4 + v.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.push(LAYOUT_VERSION);
        for (k, v) in &self.0 {
            // Field keys are catalog keys: short ASCII words, checked at catalog load.
            out.push(k.len().min(255) as u8);
            out.extend_from_slice(&k.as_bytes()[..k.len().min(255)]);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    pub fn decode(mut bytes: &[u8]) -> Result<Self, MalformedFields> {
        let mut map = BTreeMap::new();
        let (&version, rest) = bytes.split_first().ok_or(MalformedFields)?;
        if version != LAYOUT_VERSION {
            return Err(MalformedFields);
        }
        bytes = rest;
        while !bytes.is_empty() {
            let (&klen, rest) = bytes.split_first().ok_or(MalformedFields)?;
            let (key, rest) = rest
                .split_at_checked(klen as usize)
                .ok_or(MalformedFields)?;
            let (len, rest) = rest.split_at_checked(4).ok_or(MalformedFields)?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| MalformedFields)?) as usize;
            let (value, rest) = rest.split_at_checked(len).ok_or(MalformedFields)?;
            let key = std::str::from_utf8(key).map_err(|_| MalformedFields)?;
            map.insert(key.to_string(), value.to_vec());
            bytes = rest;
        }
        Ok(SealedFields(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut f = SealedFields::new();
        f.insert("email", vec![1, 2, 3]);
        f.insert("given_name", vec![]);
        let bytes = f.encode();
        assert_eq!(SealedFields::decode(&bytes), Ok(f));
        // A cut inside an entry is refused; a cut between entries is a shorter valid blob.
        let boundaries = [1, 1 + 1 + 5 + 4 + 3];
        for cut in 0..bytes.len() - 1 {
            let r = SealedFields::decode(&bytes[..cut]);
            assert_eq!(r.is_ok(), boundaries.contains(&cut), "cut {cut}");
        }
    }
}
