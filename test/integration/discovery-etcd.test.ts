import { startEtcd } from '../harness/etcd';
import { describeKvDiscovery } from './discovery-kv-suite';

describeKvDiscovery('etcd', startEtcd);
