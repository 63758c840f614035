//! JSON batching's rule on `dependsOn`, shared by the client (which builds batches) and the
//! emulator (which refuses what Graph refuses).
//!
//! Graph's JSON batching documentation says a batch "should be either fully sequential or fully
//! parallel" (<https://learn.microsoft.com/en-us/graph/json-batching>, known limitations), and
//! Microsoft's JavaScript SDK (`BatchRequestContent.validateDependencies`, msgraph-sdk-javascript,
//! citing the same known issue) refuses any batch that is not one of three shapes:
//!
//! - **parallel**: no request has a `dependsOn`;
//! - **serial**: the first request has none and every other depends on exactly the one before it;
//! - **same**: every request that has a `dependsOn` names the same single request (the first
//!   request, or the one the first request depends on), and only that request has none.
//!
//! A batch of any other shape (some requests chained, others independent) is refused by Graph with
//! `400`; [`is_accepted_shape`] tells which batches pass.

/// Whether a batch whose request `i` depends on the requests `depends_on[i]` (indexes into the
/// batch, in request order) has one of the shapes Graph accepts (see the module docs). An empty
/// batch has none.
pub fn is_accepted_shape(depends_on: &[Vec<usize>]) -> bool {
    if depends_on.is_empty() {
        return false;
    }
    is_parallel(depends_on) || is_serial(depends_on) || is_same(depends_on)
}

fn is_parallel(depends_on: &[Vec<usize>]) -> bool {
    depends_on.iter().all(Vec::is_empty)
}

fn is_serial(depends_on: &[Vec<usize>]) -> bool {
    depends_on[0].is_empty()
        && depends_on
            .iter()
            .enumerate()
            .skip(1)
            .all(|(i, deps)| deps.as_slice() == [i - 1])
}

fn is_same(depends_on: &[Vec<usize>]) -> bool {
    let hub = match depends_on[0].as_slice() {
        [] => 0,
        [d] if *d != 0 && *d < depends_on.len() => *d,
        _ => return false,
    };
    depends_on
        .iter()
        .enumerate()
        .all(|(i, deps)| match deps.as_slice() {
            [] => i == hub,
            [d] => i != hub && *d == hub,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::is_accepted_shape;

    fn shape(deps: &[&[usize]]) -> bool {
        is_accepted_shape(&deps.iter().map(|d| d.to_vec()).collect::<Vec<_>>())
    }

    #[test]
    fn parallel_serial_and_same_pass() {
        assert!(shape(&[&[]]));
        assert!(shape(&[&[], &[], &[]]), "parallel");
        assert!(shape(&[&[], &[0], &[1], &[2]]), "serial");
        assert!(shape(&[&[], &[0], &[0], &[0]]), "same: all on the first");
        assert!(shape(&[&[2], &[2], &[]]), "same: all on the third");
    }

    #[test]
    fn mixed_batches_are_refused() {
        assert!(!shape(&[]), "empty");
        assert!(
            !shape(&[&[], &[0], &[]]),
            "a chain beside an independent request"
        );
        assert!(
            !shape(&[&[], &[], &[1]]),
            "an independent first request, then a chain"
        );
        assert!(!shape(&[&[], &[0], &[0, 1]]), "two dependencies");
        assert!(!shape(&[&[], &[0], &[1], &[1]]), "a chain that forks");
        assert!(!shape(&[&[1], &[0]]), "a cycle");
        assert!(!shape(&[&[0]]), "a request on itself");
        assert!(
            !shape(&[&[], &[2], &[]]),
            "a dependency on a later request beside a root"
        );
    }
}
