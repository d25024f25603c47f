// An fd closed behind the waiter's back, for poll and select: the same
// scenarios the fast layer runs for epoll (test 56). Each starts a process
// and python peers, which takes seconds on a loaded machine.
import { itForeignFd } from './helpers/foreign-fd';

describe('an fd closed behind the waiter thread', function () {
  this.timeout(60000);
  itForeignFd('poll');
  itForeignFd('select');
});
