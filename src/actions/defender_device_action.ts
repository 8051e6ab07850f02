// Entry of the defender_device_action alert action (bin/defender_device_action.sh|.cmd start it).
import { mainDeviceAction } from './runAction.js';

mainDeviceAction();
