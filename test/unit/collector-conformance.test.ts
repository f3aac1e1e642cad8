import { describe, expect, it } from 'vitest';
import { eventLogCollector } from '../../src/index.js';
import { describeCollectorConformance } from '../../src/testing/index.js';
import { sharedData } from '../helpers/data.js';

describeCollectorConformance('event-log (Spark test logs)', {
  test: { describe, it, expect },
  create: () => eventLogCollector({ workers: 1 }),
  validSource: sharedData('spark-events'),
  expectedAppIds: [
    'app-20161115172038-0000',
    'app-20161116163331-0000',
    'app-20180109111548-0000',
    'app-20200706201101-0003',
    'application_1516285256255_0012',
    'application_1553914137147_0018',
    'application_1555004656427_0144',
    'application_1578436911597_0052',
    'application_1628109047826_1317105',
    'local-1422981759269',
    'local-1422981780767',
    'local-1425081759269',
    'local-1426533911241',
    'local-1430917381534',
    'local-1430917381535',
    'local-1642039451826',
  ],
  unreadableSource: sharedData('no-such-folder'),
});

describeCollectorConformance('event-log (other repositories: YARN, Kubernetes, Databricks, standalone)', {
  test: { describe, it, expect },
  create: () => eventLogCollector({ workers: 1 }),
  validSource: sharedData('more-events'),
  unreadableSource: [sharedData('more-events/no-such-log.zstd')],
});
