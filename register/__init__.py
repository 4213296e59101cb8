"""The supervision register (社区矫正档案): intake, transfer, release, leave, prohibition
orders, e-positioning approvals and the register's statistics.

Pure rules decide what the law and the office's limits allow (``rules``); the store
functions write the rows and their audit entry in one transaction (``store``); the caller,
the web app or the CLI, then tells the workers (:func:`register.notify.tell_workers`).
"""
