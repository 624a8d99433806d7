//! Pod shapes and per-pod OCPU/memory sizing on virtual nodes (domain.md §3.2).
//!
//! Each pod runs as its own container instance sized from its containers'
//! resources: per container the limit if set, else the request, else
//! 0.125 OCPU and 0.5 GB; summed; 0.25 GB added for kube-proxy and the runtime;
//! CPU rounded up to whole OCPUs and memory up to whole GB.

use thiserror::Error;

use crate::model::kube::pod::ContainerResources;

/// Bytes in the "GB" of the sizing rules. Oracle does not say GB or GiB
/// (domain.md §3.2, UNCONFIRMED); the twin uses GiB.
pub const GB: u64 = 1 << 30;
/// Millicores in one OCPU: Kubernetes CPU units are read as OCPUs, as in the
/// worked example of domain.md §3.2 (UNCONFIRMED against x86 vCPU counting).
pub const MILLI_PER_OCPU: u64 = 1000;
/// Default CPU of a container with neither request nor limit (0.125 OCPU).
pub const DEFAULT_CONTAINER_CPU_M: u64 = 125;
/// Default memory of a container with neither request nor limit (0.5 GB).
pub const DEFAULT_CONTAINER_MEMORY: u64 = GB / 2;
/// Memory added per pod for kube-proxy and the container runtime (0.25 GB).
pub const POD_MEMORY_OVERHEAD: u64 = GB / 4;

/// A pod shape and its per-pod bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodShape {
    /// Shape name, e.g. `Pod.Standard.E4.Flex`.
    pub name: &'static str,
    /// Largest OCPU count of one pod.
    pub max_ocpus: u32,
    /// Largest memory of one pod in GB.
    pub max_memory_gb: u32,
    /// Processor description for `ListPodShapes`.
    pub processor: &'static str,
}

/// The supported pod shapes. E3/E4: 64 OCPU (domain.md §3.2). Memory maxima and
/// the A1 bounds are proxies from the VM flex shapes (UNCONFIRMED).
pub const POD_SHAPES: &[PodShape] = &[
    PodShape {
        name: "Pod.Standard.A1.Flex",
        max_ocpus: 76,
        max_memory_gb: 472,
        processor: "3.0 GHz Ampere Altra",
    },
    PodShape {
        name: "Pod.Standard.E3.Flex",
        max_ocpus: 64,
        max_memory_gb: 1024,
        processor: "2.25 GHz AMD EPYC 7742 (Rome)",
    },
    PodShape {
        name: "Pod.Standard.E4.Flex",
        max_ocpus: 64,
        max_memory_gb: 1024,
        processor: "2.55 GHz AMD EPYC 7J13 (Milan)",
    },
];

/// Errors of shape lookup and pod sizing.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum SizingError {
    /// The shape is not a supported pod shape.
    #[error(
        "pod shape `{0}` is not supported on virtual nodes (use Pod.Standard.A1.Flex, Pod.Standard.E3.Flex or Pod.Standard.E4.Flex)"
    )]
    UnknownShape(String),
    /// The pod needs more than the shape offers.
    #[error(
        "pod needs {ocpus} OCPU and {memory_gb} GB but {shape} allows at most {max_ocpus} OCPU and {max_memory_gb} GB per pod"
    )]
    TooLarge {
        ocpus: u32,
        memory_gb: u32,
        shape: &'static str,
        max_ocpus: u32,
        max_memory_gb: u32,
    },
}

/// Looks a pod shape up by name.
pub fn pod_shape(name: &str) -> Result<&'static PodShape, SizingError> {
    POD_SHAPES
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| SizingError::UnknownShape(name.to_string()))
}

/// What one pod is billed and sized as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodSize {
    /// Whole OCPUs.
    pub ocpus: u32,
    /// Whole GB of memory, overhead included.
    pub memory_gb: u32,
    /// True when some container sets request ≠ limit (OKE recommends equal values; the
    /// twin sizes with the limit and reports a warning, domain.md §3.2).
    pub request_differs_from_limit: bool,
}

/// Sizes a pod from its containers for `shape`.
pub fn size_pod(
    containers: &[ContainerResources],
    shape: &PodShape,
) -> Result<PodSize, SizingError> {
    let mut cpu_m = 0u64;
    let mut memory = 0u64;
    let mut differs = false;
    for c in containers {
        cpu_m += c
            .cpu_limit_m
            .or(c.cpu_request_m)
            .unwrap_or(DEFAULT_CONTAINER_CPU_M);
        memory += c
            .memory_limit
            .or(c.memory_request)
            .unwrap_or(DEFAULT_CONTAINER_MEMORY);
        differs |= matches!((c.cpu_request_m, c.cpu_limit_m), (Some(r), Some(l)) if r != l);
        differs |= matches!((c.memory_request, c.memory_limit), (Some(r), Some(l)) if r != l);
    }
    // Per-pod minimum 0.125 OCPU / 0.5 GB; rounding up makes both at least 1.
    let ocpus = cpu_m.max(DEFAULT_CONTAINER_CPU_M).div_ceil(MILLI_PER_OCPU);
    let memory_gb = (memory.max(DEFAULT_CONTAINER_MEMORY) + POD_MEMORY_OVERHEAD).div_ceil(GB);
    let (ocpus, memory_gb) = (
        ocpus.min(u64::from(u32::MAX)) as u32,
        memory_gb.min(u64::from(u32::MAX)) as u32,
    );
    if ocpus > shape.max_ocpus || memory_gb > shape.max_memory_gb {
        return Err(SizingError::TooLarge {
            ocpus,
            memory_gb,
            shape: shape.name,
            max_ocpus: shape.max_ocpus,
            max_memory_gb: shape.max_memory_gb,
        });
    }
    Ok(PodSize {
        ocpus,
        memory_gb,
        request_differs_from_limit: differs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    fn e4() -> &'static PodShape {
        pod_shape("Pod.Standard.E4.Flex").unwrap()
    }

    #[test]
    fn worked_example_two_containers_300m_600mi() {
        // domain.md §3.2: CPU 0.6 -> 1 OCPU; memory 1.2 GB + 0.25 GB -> 2 GB.
        let c = ContainerResources {
            name: "c".into(),
            cpu_request_m: Some(300),
            cpu_limit_m: Some(300),
            memory_request: Some(600 * MI),
            memory_limit: Some(600 * MI),
        };
        let s = size_pod(&[c.clone(), c], e4()).unwrap();
        assert_eq!(
            (s.ocpus, s.memory_gb, s.request_differs_from_limit),
            (1, 2, false)
        );
    }

    #[test]
    fn limit_wins_over_request_and_defaults_apply() {
        let c = ContainerResources {
            cpu_request_m: Some(500),
            cpu_limit_m: Some(1500),
            ..Default::default()
        };
        let s = size_pod(&[c], e4()).unwrap();
        // 1.5 OCPU -> 2; memory default 0.5 + 0.25 -> 1 GB.
        assert_eq!(
            (s.ocpus, s.memory_gb, s.request_differs_from_limit),
            (2, 1, true)
        );
        let bare = ContainerResources::default();
        let s = size_pod(&[bare.clone(), bare.clone(), bare], e4()).unwrap();
        // 3 x 0.125 = 0.375 -> 1 OCPU; 3 x 0.5 + 0.25 = 1.75 -> 2 GB.
        assert_eq!((s.ocpus, s.memory_gb), (1, 2));
    }

    #[test]
    fn shape_bounds() {
        let big = ContainerResources {
            cpu_limit_m: Some(65_000),
            ..Default::default()
        };
        assert!(matches!(
            size_pod(&[big], e4()),
            Err(SizingError::TooLarge { ocpus: 65, .. })
        ));
        assert!(pod_shape("VM.Standard.E4.Flex").is_err());
    }
}
