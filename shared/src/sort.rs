//! A stable sort in place for the short lists the dashboard orders (presets, lanes, cores,
//! states, 60 frame times): insertion sort, linear on lists already nearly in order. The
//! standard library's sorts are copied into the wasm for every type and order they sort by,
//! about 4 KB each.

/// Sorts `v` so that no element comes after one it is `before`; equal ones keep their order.
pub fn sort_by<T>(v: &mut [T], mut before: impl FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && before(&v[j], &v[j - 1]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// [`sort_by`] a key, ascending.
pub fn sort_by_key<T, K: PartialOrd>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        let mut seed = 7u32;
        for len in [0, 1, 2, 5, 40, 300] {
            let items: Vec<(u32, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 16) % 10, i)
                })
                .collect();
            let mut ours = items.clone();
            sort_by_key(&mut ours, |p| p.0);
            let mut std = items;
            std.sort_by_key(|p| p.0);
            assert_eq!(ours, std, "len {len}");
        }
    }
}
