import { startZookeeper } from '../harness/zookeeper';
import { describeKvDiscovery } from './discovery-kv-suite';

describeKvDiscovery('zk', startZookeeper);
