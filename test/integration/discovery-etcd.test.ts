import { startEtcd } from '../../testbed/etcd';
import { describeKvDiscovery } from './discovery-kv-suite';

describeKvDiscovery('etcd', startEtcd);
