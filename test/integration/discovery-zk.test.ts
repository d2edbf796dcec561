import { startZookeeper } from '../../testbed/zookeeper';
import { describeKvDiscovery } from './discovery-kv-suite';

describeKvDiscovery('zk', startZookeeper);
