// One machine's alarms (open and closed, newest first) for its history panel and the markers on
// its charts: fetched, and fetched again whenever the `alarms` stream reports a transition of this
// machine (polled while the stream is not live).
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { alarmKeys, machineAlarmsQuery } from '../../../api/alarms';
import { useConnectionStatus, useSubscription } from '../../../realtime/useRealtime';

export function useMachineAlarms(machineId: string) {
  const queryClient = useQueryClient();
  const connection = useConnectionStatus();
  const live = connection.state === 'live';
  const refresh = () =>
    void queryClient.invalidateQueries({ queryKey: alarmKeys.machine(machineId) });
  useSubscription(
    { sub: `machine-alarms:${machineId}`, stream: 'alarms', filter: { machine_ids: [machineId] } },
    {
      // The snapshot holds only open alarms; the list (with closed ones) comes from the server.
      snapshot: refresh,
      update: refresh,
    },
  );
  return useQuery({ ...machineAlarmsQuery(machineId), refetchInterval: live ? 60_000 : 10_000 });
}
