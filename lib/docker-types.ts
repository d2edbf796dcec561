/**
 * Docker API body shapes shared by the layers (API routes, cluster, scheduler, engine records).
 * Kept here, low in the tree, so no layer imports a higher one to name them.
 */

/** A host port binding as Docker's HostConfig.PortBindings holds it. */
export interface PortBindingBody {
  HostIp?: string;
  HostPort?: string;
}

/** The subset of Docker's create body the scheduler reads or rewrites. */
export interface CreateBody {
  Image?: string;
  Env?: string[] | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
  HostConfig?: {
    CpuShares?: number;
    NanoCpus?: number;
    Memory?: number;
    NetworkMode?: string;
    PortBindings?: Record<string, PortBindingBody[] | null> | null;
    VolumesFrom?: string[] | null;
    Links?: string[] | null;
    [key: string]: unknown;
  } | null;
  [key: string]: unknown;
}

