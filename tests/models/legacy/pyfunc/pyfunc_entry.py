"""What MLflow runs to build the pyfunc model when it loads it ("models from code").

Logging from code instead of pickling a Python object means the stored model holds this
file and the joblib artifact, nothing else.
"""

import mlflow

from models.pyfunc import RiskPyfunc

mlflow.models.set_model(RiskPyfunc())
