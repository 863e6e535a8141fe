import { createInProcessBus } from '../../../shared/src/infra/bus/in-process-bus.js';
import { testFleetBus } from './fleet-bus.contract.js';

testFleetBus('in-process', (options) => {
  const bus = createInProcessBus(options);
  return Promise.resolve({ sender: bus, receiver: bus, dispose: () => bus.close() });
});
