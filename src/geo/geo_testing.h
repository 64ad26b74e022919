// Random points for the engine's tests and benchmarks (deterministic given the generator).
#ifndef LIGHTCONE_GEO_GEO_TESTING_H_
#define LIGHTCONE_GEO_GEO_TESTING_H_

#include <cmath>
#include <random>

#include "geo/units.h"
#include "s2/s2point.h"
#include "s2/s2pointutil.h"

namespace lightcone::geo::testing {

// A point uniformly distributed on the sphere.
inline S2Point RandomPoint(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  const double z = 2 * u(rng) - 1, a = 2 * M_PI * u(rng), s = std::sqrt(1 - z * z);
  return S2Point(s * std::cos(a), s * std::sin(a), z);
}

// A point uniformly distributed in the cap of `radius_km` around `c`.
inline S2Point RandomPointNear(std::mt19937_64& rng, const S2Point& c, double radius_km) {
  std::uniform_real_distribution<double> u(0, 1);
  const S2Point x = S2::Ortho(c), y = c.CrossProd(x);
  const double r = KmToAngle(radius_km).radians();
  const double d = std::acos(1 - u(rng) * (1 - std::cos(r))), a = u(rng) * 2 * M_PI;
  return (std::cos(d) * c + std::sin(d) * (std::cos(a) * x + std::sin(a) * y)).Normalize();
}

}  // namespace lightcone::geo::testing

#endif  // LIGHTCONE_GEO_GEO_TESTING_H_
